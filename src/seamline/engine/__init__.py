"""The engine: runs a validated pipeline on real files (:mod:`seamline.engine.runner`) and keeps
its run directory (:mod:`seamline.engine.store`).

Why not in the core: running a pipeline reads the input image colour-managed, writes outputs
and previews, looks stages up and writes the HTML report, that is it uses :mod:`seamline.io`,
the stage registry and :mod:`seamline.reporting`. The core may import none of them, and
injecting all three into it (reader, writer, previews, report hook) would only hide the same
dependencies behind registries. So the runner sits above the stages, beside the other front
ends (api, batch, cli), and the core keeps what a handoff *is*: contracts, checks, adapters,
artifact measurements and the pipeline spec.
"""
