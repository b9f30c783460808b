"""The bridge's DNS side: publishing names to DNS servers and checking that they resolve.

This package is the only place of the bridge that imports dnspython (import-linter checks it), so
DNS wire formats, rcodes and dnspython's exceptions never leak into the reconciler or the CLI:
modules here answer in the bridge's own values. Import the submodules directly; this file
re-exports nothing.
"""
