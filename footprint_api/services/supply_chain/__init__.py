"""Supply chains: a purchased input of an inventory resting on a supplier's value instead of the background activity.

Three kinds of source, each resolved when the inventory is submitted (`resolve`, then `record` in the submission's
transaction), and frozen in a SupplyLink: every calculation of that inventory version reads the link's value
(`supplier_values`), never a number the buyer typed.

- `label`: a carbon label of this service, by its number. Only what the public label shows is used (value per
  declared unit, declared unit, PCR and version, validity, state, issuer, and the data quality of the labelled
  footprint that the public label JSON carries): the supplier's inventory stays private.
- `pact`: a PACT ProductFootprint the buyer received from its supplier (services.pact.suppliers), by its PACT id:
  the newest Active version the buyer holds.
- `release`: an entry of a factor-database release (services.factor_database), by release number and entry key.

What follows a source afterwards: a label suspended, revoked, superseded or expired, a PACT footprint deprecated,
marks every link resting on it affected (`label_withdrawn`, `supplier_footprint_deprecated`), in the transaction
that withdrew it, with an audit entry that tells the buyer's people and the certification bodies that labelled a
footprint of that inventory (services.notices). The footprint's values stay as calculated; they are marked, and the
buyer recalculates on the supplier's newer value where there is one (`recalculate_with_newer`).

Cycles are refused at submission: a product whose footprint would rest, through labels, on its own footprint.

One module per part: `links` (kinds, reasons, the calculation's values), `resolution`, `cycles`, `successors`,
`propagation`, `views`, `recalculation`; the functions other parts call are named here.
"""

from footprint_api.services.supply_chain.links import (
    ACTIVE,
    DEPRECATED,
    LABEL,
    LABEL_REASONS,
    PACT,
    PACT_DEPRECATED,
    REASONS,
    RELEASE,
    Refusal,
    source_name,
    supplier_values,
)
from footprint_api.services.supply_chain.propagation import (
    label_reinstated,
    label_withdrawn,
    supplier_footprint_deprecated,
)
from footprint_api.services.supply_chain.recalculation import recalculate_with_newer
from footprint_api.services.supply_chain.resolution import (
    PACT_UNITS,
    declared,
    label_by_number,
    pact_dqr,
    record,
    resolve,
)
from footprint_api.services.supply_chain.successors import successor_footprint, successor_label, successor_reference
from footprint_api.services.supply_chain.views import (
    affected_footprints,
    concerned,
    labels_at_risk,
    newest_footprint,
    page_of,
    sources_of_footprint,
)

__all__ = [
    "ACTIVE",
    "DEPRECATED",
    "LABEL",
    "LABEL_REASONS",
    "PACT",
    "PACT_DEPRECATED",
    "PACT_UNITS",
    "REASONS",
    "RELEASE",
    "Refusal",
    "affected_footprints",
    "concerned",
    "declared",
    "label_by_number",
    "label_reinstated",
    "label_withdrawn",
    "labels_at_risk",
    "newest_footprint",
    "pact_dqr",
    "page_of",
    "recalculate_with_newer",
    "record",
    "resolve",
    "source_name",
    "sources_of_footprint",
    "successor_footprint",
    "successor_label",
    "successor_reference",
    "supplier_footprint_deprecated",
    "supplier_values",
]
