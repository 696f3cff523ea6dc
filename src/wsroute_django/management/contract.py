"""What ``wsroute_asyncapi`` and ``wsroute_typescript`` share: building the document, reporting
its problems by name, and writing the result."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from wsroute_django.contract import project_document


class ContractCommand(BaseCommand):
    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of standard output")
        parser.add_argument("--title", default="WebSocket API", help="the document's title (info.title)")
        parser.add_argument("--api-version", default="1.0.0", help="the document's version (info.version)")
        parser.add_argument("--description", default=None, help="the document's description (info.description)")

    def document(self, options: dict[str, Any]) -> dict[str, Any]:
        """The project's document, or a ``CommandError`` after naming every problem on stderr."""
        try:
            document, problems = project_document(
                title=options["title"], version=options["api_version"], description=options["description"]
            )
        except ImproperlyConfigured as exc:
            raise CommandError(f"cannot load the ASGI application: {exc}") from None
        for problem in problems:
            kind = "error" if problem.fatal else "warning"
            self.stderr.write(f"{kind}: {problem}")
        fatal = sum(problem.fatal for problem in problems)
        if fatal:
            raise CommandError(f"{fatal} problem(s) above; nothing was written")
        return document

    def emit(self, text: str, output: str | None) -> None:
        if output is None:
            self.stdout.write(text, ending="")
        else:
            Path(output).write_text(text, encoding="utf-8")
            self.stderr.write(f"wrote {output}")
