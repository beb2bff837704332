"""``seamline serve``: the HTTP API, the job workers and the inspector (extra ``seamline[serve]``).

A front end over the runner: every request becomes an ordinary run directory under RUNS_DIR
(manifest, intermediates, report), run by a worker process. Nothing in seamline imports this
package.

>>> from seamline.serve import ServeConfig, create_app                 # doctest: +SKIP
>>> app = create_app(ServeConfig(runs_dir=Path("runs")))               # doctest: +SKIP
"""

from seamline.serve.app import create_app
from seamline.serve.validate import ServeConfig

__all__ = ["ServeConfig", "create_app"]
