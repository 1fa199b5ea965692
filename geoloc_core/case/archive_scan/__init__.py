"""Scanning an archive (#35): ``scan --engine ray``, for folders that outgrow one machine.

The rows are the local scan's (the same ``Analyzer``, each file parsed in an isolated, time- and
memory-bounded process); what changes is who runs them and where they go:
- ``inputs``: folders, files, a text file listing paths, object-store URIs (pyarrow filesystems);
- ``shards``: the output folder of Parquet shards, which is also the resume index (path + size + mtime);
- ``ray_engine``: Ray actors that each hold an ``Analyzer`` (its parser processes, the geocoder, the model
  when there is one, on a GPU when the cluster has GPUs) and the driver loop that feeds them chunks of files.

May import: the case record and its pipeline (``case/``), ``case/exports`` (the --out export), and the groups
below ``case``.
"""
