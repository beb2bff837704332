"""Batch engines: generators that take task dicts and yield item records as items finish.

``local`` (a process pool on this machine) and ``ray`` (Ray actors); both run
:func:`seamline.batch.worker.process_item`.
"""
