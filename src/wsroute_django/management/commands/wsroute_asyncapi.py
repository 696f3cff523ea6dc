from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from wsroute_django.contract import render_json
from wsroute_django.management.contract import ContractCommand


class Command(ContractCommand):
    help = (
        "Write the AsyncAPI 3.0 document of every wsroute consumer that ASGI_APPLICATION routes WebSockets to: "
        "a channel per URL pattern, an operation per route, the error frame, ref as the correlation id."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--format",
            choices=["json", "yaml"],
            default=None,
            help="default: yaml for an --output ending in .yaml or .yml, else json",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        output = options["output"]
        fmt = options["format"] or ("yaml" if output and output.endswith((".yaml", ".yml")) else "json")
        if fmt == "yaml":
            try:
                import yaml
            except ImportError:
                hint = "pip install 'wsroute[yaml]', or use --format json"
                raise CommandError(f"--format yaml needs PyYAML: {hint}") from None
        document = self.document(options)
        if fmt == "yaml":
            text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
        else:
            text = render_json(document)
        self.emit(text, output)
