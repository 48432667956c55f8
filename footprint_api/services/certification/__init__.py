"""Applications for certification: the manufacturer applies, the certification body reviews and decides.

One module per part, each importing only those listed before it:

- `refusals`: the refusals' codes and their wording in the reader's language;
- `vocabulary`: a PCR's names of items and parameters in the reader's language;
- `parties`: which side of an application the caller is on, and which applications each side sees;
- `comparison`: what changed between two inventory versions (in the PCR's units), and the label in force;
- `corrections`: the footprints that may correct an application;
- `subjects`: what a finding is about, named for people;
- `evidence`: evidence documents, checked by their content;
- `workbook`: the workbook an inventory was uploaded in;
- `findings`: raising, answering, replying to and closing findings;
- `lists`: lists of applications with search, filters, order and pages;
- `workflow`: the application's steps and what each needs and does;
- `applications`: applying;
- `review`: the verifier's review file;
- `view`: one application as its two parties' pages show it.

The edges call the names below as `certification.<name>`. `findings` and `evidence` are the functions (the lists of
an application's findings and documents), which shadow their modules here; import from a module by its full path.
"""

from footprint_api.services.certification.applications import (
    apply,
    apply_and_submit,
    certification_bodies,
    footprint_to_apply,
    footprints_to_apply,
)
from footprint_api.services.certification.comparison import (
    Change,
    in_force_diff,
    inventory_changes,
    label_in_force,
    version_diff,
)
from footprint_api.services.certification.corrections import corrected_footprint, correction_candidates
from footprint_api.services.certification.evidence import (
    DOCX,
    EVIDENCE_TYPES,
    EXTENSIONS,
    KIND_NAMES,
    MAX_EVIDENCE_BYTES,
    NAMED_KINDS,
    XLSX,
    EvidenceRow,
    check_evidence,
    clean_name,
    download_name,
    evidence,
    evidence_file,
    sniff,
    upload_evidence,
)
from footprint_api.services.certification.findings import (
    answer_finding,
    close_finding,
    findings,
    open_findings,
    raise_finding,
    reply_finding,
)
from footprint_api.services.certification.lists import (
    PAGE_SIZES,
    SORTS,
    STATES,
    ApplicationPage,
    ApplicationQuery,
    ApplicationRow,
    application_number,
    application_page,
    list_applications,
    parse_query,
)
from footprint_api.services.certification.parties import visible
from footprint_api.services.certification.refusals import field_reasons_in, reason_in, refusal_in
from footprint_api.services.certification.review import review_file
from footprint_api.services.certification.subjects import (
    GASES,
    Subject,
    finding_subjects,
    subject_name,
    subject_names,
    subject_of,
    subjects_to_choose,
)
from footprint_api.services.certification.view import application_view, history, label_of
from footprint_api.services.certification.vocabulary import Vocabulary, pcr_vocabulary
from footprint_api.services.certification.workbook import Workbook, workbook_file
from footprint_api.services.certification.workflow import act

__all__ = [
    "DOCX",
    "EVIDENCE_TYPES",
    "EXTENSIONS",
    "GASES",
    "KIND_NAMES",
    "MAX_EVIDENCE_BYTES",
    "NAMED_KINDS",
    "PAGE_SIZES",
    "SORTS",
    "STATES",
    "XLSX",
    "ApplicationPage",
    "ApplicationQuery",
    "ApplicationRow",
    "Change",
    "EvidenceRow",
    "Subject",
    "Vocabulary",
    "Workbook",
    "act",
    "answer_finding",
    "application_number",
    "application_page",
    "application_view",
    "apply",
    "apply_and_submit",
    "certification_bodies",
    "check_evidence",
    "clean_name",
    "close_finding",
    "corrected_footprint",
    "correction_candidates",
    "download_name",
    "evidence",
    "evidence_file",
    "field_reasons_in",
    "finding_subjects",
    "findings",
    "footprint_to_apply",
    "footprints_to_apply",
    "history",
    "in_force_diff",
    "inventory_changes",
    "label_in_force",
    "label_of",
    "list_applications",
    "open_findings",
    "parse_query",
    "pcr_vocabulary",
    "raise_finding",
    "reason_in",
    "refusal_in",
    "reply_finding",
    "review_file",
    "sniff",
    "subject_name",
    "subject_names",
    "subject_of",
    "subjects_to_choose",
    "upload_evidence",
    "version_diff",
    "visible",
    "workbook_file",
]
