from __future__ import annotations

from typing import Any

from wsroute.typescript import render
from wsroute_django.management.contract import ContractCommand


class Command(ContractCommand):
    help = (
        "Write TypeScript declarations (.d.ts) of every wsroute consumer's messages, from the same JSON Schemas "
        "as wsroute_asyncapi: one interface per URL pattern, for wsroute.js's connect<Interface>(...)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        self.emit(render(self.document(options)), options["output"])
