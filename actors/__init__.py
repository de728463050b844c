"""A small generic actor runtime on trio.

Actors handle messages from a bounded mailbox, one at a time or up to
`Actor.concurrency` at once, and are restarted one-for-one by a `Supervisor`
when they crash. See `open_supervisor`.
"""

from ._actor import Actor as Actor
from ._actor import ActorContext as ActorContext
from ._errors import ActorCrashed as ActorCrashed
from ._errors import ActorError as ActorError
from ._errors import ActorStopped as ActorStopped
from ._errors import MailboxFull as MailboxFull
from ._errors import RestartBudgetExceeded as RestartBudgetExceeded
from ._ref import ActorRef as ActorRef
from ._ref import ActorStatistics as ActorStatistics
from ._ref import Ask as Ask
from ._ref import StreamAsk as StreamAsk
from ._supervisor import RestartPolicy as RestartPolicy
from ._supervisor import Supervisor as Supervisor
from ._supervisor import open_supervisor as open_supervisor

__all__ = [
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
]
