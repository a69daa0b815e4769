"""The two graphs: the skill knowledge graph and the LangGraph state machine that runs over it."""
