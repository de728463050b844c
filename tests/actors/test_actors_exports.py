"""The public surface of `actors` and `actors.testing`."""

from __future__ import annotations

import ast
import pathlib

import actors
import actors.testing

EXPECTED = {
    "Actor",
    "ActorContext",
    "ActorCrashed",
    "ActorError",
    "ActorRef",
    "ActorStatistics",
    "ActorStopped",
    "Ask",
    "MailboxFull",
    "RestartBudgetExceeded",
    "RestartPolicy",
    "StreamAsk",
    "Supervisor",
    "open_supervisor",
}


def test_all_lists_exactly_the_public_names() -> None:
    assert set(actors.__all__) == EXPECTED
    assert len(actors.__all__) == len(EXPECTED)
    public = {name for name in vars(actors) if not name.startswith("_")}
    assert public - {"testing"} == EXPECTED
    for name in actors.__all__:
        assert getattr(actors, name) is not None


def test_runtime_errors_derive_from_actor_error() -> None:
    for error in (
        actors.MailboxFull,
        actors.ActorStopped,
        actors.ActorCrashed,
        actors.RestartBudgetExceeded,
    ):
        assert issubclass(error, actors.ActorError)
    assert issubclass(actors.ActorError, Exception)


def test_testing_module_exports_its_helpers() -> None:
    assert actors.testing.__all__ == ["started"]
    assert callable(actors.testing.started)


def test_actors_never_imports_openresponses() -> None:
    package = pathlib.Path(actors.__file__).parent
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(n.split(".")[0] == "openresponses" for n in names), path
