"""The tutoring state machine: the self-play nodes around a person instead of a model.

    diagnostician -> curator -> student(person) -> answer_adapter -> verifier -> record -> tutor
    student -> tutor                 a hint, an explanation or a skip
    tutor -> student                 after a hint or an explanation (same task)
    tutor -> diagnostician           after an answer or a skip; it routes back to the student while
                                     the task is still open (a wrong try), else to the curator

The person's turn is a LangGraph `interrupt()` (the human backend), so every pause is a checkpoint:
a session quit or killed anywhere resumes at the same task. `config.max_steps` caps the tasks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from cosr.agents.answer_adapter import adapt
from cosr.agents.curator import curate_for_person
from cosr.agents.diagnostician import diagnose
from cosr.agents.recorder import record
from cosr.agents.tutor import ask_person, respond
from cosr.agents.verifier import verify
from cosr.graphs.context import Context
from cosr.graphs.selfplay import checkpointer
from cosr.graphs.state import TutorState


def route_after_diagnose(state: TutorState, runtime: Runtime[Context]) -> Literal["student", "curator", "__end__"]:
    if state.get("task") is not None:
        return "student"
    if state.get("step", 0) >= runtime.context.config.max_steps:
        return END
    return "curator"


def route_after_student(state: TutorState) -> Literal["answer_adapter", "tutor"]:
    return "answer_adapter" if state.get("command", "answer") == "answer" else "tutor"


def route_after_tutor(state: TutorState) -> Literal["student", "diagnostician"]:
    return "student" if state.get("command") in ("hint", "explain") else "diagnostician"


def build_graph() -> StateGraph:
    g = StateGraph(TutorState, context_schema=Context)
    g.add_node("diagnostician", diagnose)
    g.add_node("curator", curate_for_person)
    g.add_node("student", ask_person)
    g.add_node("answer_adapter", adapt)
    g.add_node("verifier", verify)
    g.add_node("record", record)
    g.add_node("tutor", respond)
    g.add_edge(START, "diagnostician")
    g.add_conditional_edges("diagnostician", route_after_diagnose)
    g.add_edge("curator", "student")
    g.add_conditional_edges("student", route_after_student)
    g.add_edge("answer_adapter", "verifier")
    g.add_edge("verifier", "record")
    g.add_edge("record", "tutor")
    g.add_conditional_edges("tutor", route_after_tutor)
    return g


def compile_graph(checkpoint_path: Path) -> CompiledStateGraph:
    return build_graph().compile(checkpointer=checkpointer(checkpoint_path))
