from tests.fixtures.app import *  # noqa: F403
from tests.fixtures.chat_platforms import *  # noqa: F403
from tests.fixtures.cjsim import *  # noqa: F403
from tests.fixtures.database import *  # noqa: F403
from tests.fixtures.notifications import *  # noqa: F403
from tests.fixtures.receiver import *  # noqa: F403
from tests.fixtures.redis import *  # noqa: F403
from tests.fixtures.statements import *  # noqa: F403
