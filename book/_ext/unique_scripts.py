"""A Sphinx extension for the book: each page loads each script once.

sphinx-thebe registers its inline configuration (``const THEBE_JS_URL = ...``) after the HTML
builder has read the registry, so under current Sphinx it reaches every page twice and the
second copy is a console error ("Identifier 'THEBE_JS_URL' has already been declared"). This
drops repeated script entries, keeping the first of each (same file, same attributes and body;
an inline script's file is ``None`` or ``""``, depending on who registered it).
"""

from __future__ import annotations


def _unique_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        attributes = getattr(script, "attributes", {})
        key = (getattr(script, "filename", None) or "", tuple(sorted(  # inline: None or ""
            (name, str(value)) for name, value in attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _unique_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
