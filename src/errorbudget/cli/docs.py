"""docs/cli.md, generated from the click commands themselves (``make docs``).

A test regenerates it and fails when the committed file differs, so the reference can never
drift from the CLI.
"""

from __future__ import annotations

import click

HEADER = """# CLI reference

Generated from the commands by `make docs`; a test fails when this file is stale.

Exit codes: 0 success; 1 an error (one sentence on stderr, with the file and line where
there is one); 2 usage (unknown option, bad value); 3 `errorbudget serve` or `errorbudget
demo` cannot listen on its port (in use by another process, or an address it cannot bind),
found before any other work; 4 another process held the store's write lock for longer
than the command waits for it (`ingest --wait`, 30 s for the other commands that write):
the message names that process when it is an errorbudget command; 5 a record fails
verification against the audit chain (`errorbudget audit verify` or `audit log` finds the
chain broken, or a command refuses a change whose record was tampered with).
`errorbudget gate` adds 10 (review), 11 (approval required) and 12 (blocked) under
`gate.enforcement: enforce`, and 6 for a what-if (`--at`) there: it decides nothing.

Every command that reads the config takes `-c/--config FILE`, else `$ERRORBUDGET_CONFIG`,
else `./errorbudget.yaml`.
"""


def _commands(
    group: click.Group, ctx: click.Context, prefix: str
) -> list[tuple[str, click.Command, click.Context]]:
    found = []
    for name in sorted(group.list_commands(ctx)):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        sub_ctx = click.Context(command, info_name=name, parent=ctx)
        path = f"{prefix} {name}"
        found.append((path, command, sub_ctx))
        if isinstance(command, click.Group):
            found.extend(_commands(command, sub_ctx, path))
    return found


def render(root: click.Group, name: str = "errorbudget") -> str:
    """Markdown with one section per command: usage, description and options."""
    settings = {"terminal_width": 100, **root.context_settings}
    ctx = click.Context(root, info_name=name, **settings)
    parts = [HEADER]
    for path, command, sub_ctx in _commands(root, ctx, name):
        parts.append(f"## `{path}`\n")
        parts.append("```text")
        parts.append(command.get_help(sub_ctx).rstrip())
        parts.append("```\n")
    return "\n".join(parts)
