"""Build hook: bundle the query page's editor (CodeMirror 6 with SPARQL, from npm) into
``kg/web/static/vendor/editor.js`` for every wheel, editable installs included.

The editor's sources are ``kg/web/static/editor/`` (``package.json``, ``package-lock.json``,
``editor.mjs``, ``build.mjs``); ``node_modules/`` there and ``vendor/`` are git-ignored and never
committed.  The bundle is rebuilt only when those sources change (a digest is kept in
``vendor/.digest``), so a wheel built offline from a tree that has one needs no npm.  Without npm
and without an up-to-date bundle the build stops with a message saying what to install.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SOURCES = ("package.json", "package-lock.json", "editor.mjs", "build.mjs")


class EditorBundleHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        editor = Path(self.root) / "kg" / "web" / "static" / "editor"
        vendor = editor.parent / "vendor"
        digest = hashlib.sha256(b"".join((editor / name).read_bytes() for name in SOURCES)).hexdigest()
        stamp = vendor / ".digest"
        if (vendor / "editor.js").is_file() and stamp.is_file() and stamp.read_text().strip() == digest:
            return
        npm, node = shutil.which("npm"), shutil.which("node")
        if npm is None or node is None:
            raise RuntimeError(
                "imr-kg's query page bundles its editor (CodeMirror, from npm) when it is installed, and "
                "Node.js with npm was not found on PATH: install them (Debian: apt-get install -y nodejs npm) "
                "and run the install again.")
        self.app.display_info("bundling the query editor (npm ci, esbuild) into kg/web/static/vendor")
        for cmd in ([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], [node, "build.mjs"]):
            done = subprocess.run(cmd, cwd=editor, capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"bundling the query editor failed: {' '.join(cmd)} (in {editor}) exited "
                                   f"{done.returncode}:\n{done.stdout}{done.stderr}")
        stamp.write_text(digest + "\n")
