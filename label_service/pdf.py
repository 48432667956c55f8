"""reportlab is not thread-safe: an embedded TrueType font is one shared object whose subsetting state every
document being written mutates (concurrent label issuances once failed with a KeyError inside `makeSubset`).
Every PDF of the service is written while holding this one lock; a label PDF takes ~15 ms, a report ~100 ms."""

import threading

REPORTLAB = threading.Lock()
