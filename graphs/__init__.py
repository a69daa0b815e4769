"""The two graphs, the skill knowledge graph and the LangGraph state machine that runs over it, and what puts
a run of the state machine together (sessions, a compare's runs, the audit, the server)."""
