"""Imports every model module so ``Base.metadata`` is complete (for Alembic and tests)."""

from __future__ import annotations


def import_all_models() -> None:
    from laseros.domain.accounting import models as _accounting  # noqa: F401
    from laseros.domain.admin import models as _admin  # noqa: F401
    from laseros.domain.clients import models as _clients  # noqa: F401
    from laseros.domain.comms import models as _comms  # noqa: F401
    from laseros.domain.files import models as _files  # noqa: F401
    from laseros.domain.inventory import models as _inventory  # noqa: F401
    from laseros.domain.kernel import models as _kernel  # noqa: F401
    from laseros.domain.notifications import models as _notifications  # noqa: F401
    from laseros.domain.operators import models as _operators  # noqa: F401
    from laseros.domain.presets import models as _presets  # noqa: F401
    from laseros.domain.products import models as _products  # noqa: F401
    from laseros.domain.projects import models as _projects  # noqa: F401
    from laseros.domain.queue import models as _queue  # noqa: F401
    from laseros.domain.reports import models as _reports  # noqa: F401
    from laseros.domain.runs import models as _runs  # noqa: F401
