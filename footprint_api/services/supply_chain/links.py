"""What a supply link is: the kinds of source, why a link is affected, the refusals of resolution as coded errors,
and the values a calculation reads from the links of an inventory version."""

import uuid

from sqlmodel import Session, select

from footprint_api.core.errors import Unprocessable
from footprint_api.core.messages import catalogue
from footprint_api.persistence.models import Label, SupplyLink
from footprint_api.services import verification
from label_service.workflow import LabelState
from lca_models.supply import SupplierValue

LABEL, PACT, RELEASE = "label", "pact", "release"
ACTIVE, DEPRECATED = "Active", "Deprecated"  # SupplierFootprint.status, as PACT names them

# why a link is affected (SupplyLink.affected_reason; worded by the catalogue's `supply.reason.<code>`)
LABEL_REASONS = {
    LabelState.SUSPENDED.value: "label.suspended",
    LabelState.REVOKED.value: "label.revoked",
    LabelState.SUPERSEDED.value: "label.superseded",
    LabelState.EXPIRED.value: "label.expired",
}
PACT_DEPRECATED = "pact.deprecated"
REASONS = (*LABEL_REASONS.values(), PACT_DEPRECATED)


class Refusal(Exception):
    """One source that cannot be used: the code (`supply.<code>`), its English reason, the part of the reference it
    is about (`reference` or `entry`), and its values."""

    def __init__(self, code: str, reason: str, part: str = "reference", **params):
        super().__init__(reason)
        self.code, self.reason, self.part, self.params = code, reason, part, params

    def error(self, index: int) -> dict:
        return {
            "field": f"items[{index}].supplier.{self.part}",
            "reason": self.reason,
            "code": f"supply.{self.code}",
            "params": {"item_index": index, **self.params},
        }


def zh(code: str) -> str:
    """A word of a refusal in Chinese, beside the English value (services.messages shows `<name>_zh` on Chinese
    pages)."""
    return catalogue("zh").messages.get(code, code)


def refused(errors: list[dict]) -> Unprocessable:
    return Unprocessable("a supplier source of the inventory cannot be used", errors, code="supply.refused")


def expired(label: Label) -> bool:
    """Past its validity: expired, or due to be (the housekeeping moves it on its next run; a label's days are Beijing
    days, services.verification.today)."""
    return label.state == LabelState.EXPIRED.value or label.expires_on < verification.today()


def label_params(label: Label) -> dict:
    """The values of the reason a link rests on a withdrawn label (`supply.reason.label.*`): the label as the public
    sees it, its successor when superseded, its last day when expired."""
    params = {"number": label.number, "product": label.product_name, "manufacturer": label.manufacturer_name}
    if label.state == LabelState.SUPERSEDED.value and label.superseded_by:
        params["by"] = label.superseded_by
    if expired(label):
        params["expires_on"] = label.expires_on.isoformat()
    return params


def supplier_values(session: Session, inventory_id: uuid.UUID) -> dict[int, SupplierValue]:
    """The engine's supplier values of an inventory version, by item index: the values its links froze at
    submission (a source withdrawn since does not change them; the link is marked instead)."""
    return {link.item_index: value_of(link) for link in links_of(session, inventory_id)}


def value_of(link: SupplyLink) -> SupplierValue:
    """The engine's value of a link; ValueError where the engine would refuse it (lca_models.supply.SupplierValue):
    resolution asks first, so that a submission is refused rather than its calculation failed."""
    return SupplierValue(
        kg_co2e_per_unit=link.value_per_item_unit,
        source=source_name(link),
        verified=link.verified,
        primary_data_share=link.primary_data_share,
        dqr=link.dqr,
    )


def source_name(link: SupplyLink) -> str:
    """How a contribution names its source: label:PCF-2026-000123-F, pact:<id>, release:2026.1/<key>."""
    return f"{link.kind}:{link.reference}"


def links_of(session: Session, inventory_id: uuid.UUID) -> list[SupplyLink]:
    return list(
        session.exec(select(SupplyLink).where(SupplyLink.inventory_id == inventory_id).order_by(SupplyLink.item_index))
    )
