"""Infrastructure: tokens and passwords, the object store, outbound HTTP, body limits, workbooks, the task queue."""
