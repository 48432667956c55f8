"""Suppliers' values in a footprint: a purchased input whose upstream footprint comes from its supplier (a carbon
label of this service, a PACT ProductFootprint, an entry of a factor-database release) instead of the factor set's
background activity.

The service resolves each inventory item's `supplier` reference (`pcr_rules.inventory.SupplierRef`) to a
`SupplierValue` when the inventory is submitted; the engine takes those values as fixed data, keyed by the item's
index in `inventory.items`, and never looks a reference up itself.

How a supplier value enters the result (PACT Technical Specifications v3, Methodology 4.2.2 and 4.2.3):
- the item's emissions are its amount times `kg_co2e_per_unit` (contribution part `supplier`, naming `source`);
- primary data share: the item's emissions count as primary in the proportion the supplier's own
  `primary_data_share` says (unknown: none of it), so the footprint's share is the emissions-weighted mean of its
  items' shares. Example: 1 t of cement = 637.5 kg CO2e of purchased clinker at a supplier share of 80 % plus
  100 kg CO2e of the grinding station's own metered electricity (100 % primary): (637.5 x 0.8 + 100 x 1) / 737.5
  = 610 / 737.5 = 82.7 %, where the same clinker at a screening factor would give 100 / 737.5 = 13.6 %;
- data-quality rating: the supplier's `dqr` is the item's rating (unknown: the secondary default, 3.0), weighted by
  the item's emissions like every other item's;
- uncertainty (Monte Carlo): the value is fixed data; the item varies only with its activity-data uncertainty (its
  `relative_sd`, else the PCR's default for its data source). The supplier's own uncertainty is not published on a
  label or a PACT footprint, so none is invented here.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass

from pcr_rules.inventory import Inventory


@dataclass(frozen=True)
class SupplierValue:
    """A supplier's footprint of one purchased input, resolved and converted by the service."""

    kg_co2e_per_unit: float  # per unit of the PCR item's unit (ItemSpec.unit), already converted
    source: str  # e.g. "label:PCF-2026-000123-F", "pact:<id>", "release:2026.1/<key>"
    verified: bool  # a label, an assured PACT footprint, a release entry
    primary_data_share: float | None  # 0..1, the source's own (None: unknown, counted as secondary)
    dqr: float | None  # the source's data-quality rating, 1..5 (None: the secondary default)

    def __post_init__(self) -> None:
        if not math.isfinite(self.kg_co2e_per_unit) or self.kg_co2e_per_unit < 0:
            raise ValueError(f"{self.source}: a footprint per unit is a finite amount >= 0")
        if self.primary_data_share is not None and not 0 <= self.primary_data_share <= 1:
            raise ValueError(f"{self.source}: a primary data share is 0..1, not {self.primary_data_share}")
        if self.dqr is not None and not 1 <= self.dqr <= 5:
            raise ValueError(f"{self.source}: a data-quality rating is 1..5, not {self.dqr}")


class SupplierValueMissing(ValueError):
    """An item names a supplier and no value was resolved for it (or a value was given for an item that names
    none): the service resolves every reference before it asks for a calculation."""


def checked_suppliers(inventory: Inventory, suppliers: Mapping[int, SupplierValue] | None) -> dict[int, SupplierValue]:
    """The supplier values by item index, one for each item that names a supplier and none for another."""
    given = dict(suppliers or {})
    for index, entry in enumerate(inventory.items):
        if entry.supplier is not None and index not in given:
            ref = entry.supplier
            raise SupplierValueMissing(
                f"items[{index}] ({entry.item}) names {ref.kind} {ref.reference}"
                f"{'/' + ref.entry if ref.entry else ''}, and no value was resolved for it"
            )
    for index in given:
        if not 0 <= index < len(inventory.items) or inventory.items[index].supplier is None:
            raise SupplierValueMissing(f"a supplier value is given for items[{index}], which names no supplier")
    return given
