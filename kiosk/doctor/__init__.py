"""``kiosk doctor``: checks that a kiosk is fit to sell, with a hint for whatever is not.

`run_doctor` loads the configuration (`config_checks`), then runs every check of
`checks.CHECKS` side by side, each bounded in time and never raising: the database and free
space, staff (`storage_checks`), the clock (`clock`), the scanner and printer (`devices`),
Stripe with the card reader and the back office (`reachability`), and the backups when the
settings have them. The answer is a `DoctorReport` (`report`): a table or JSON, with every
secret scrubbed. Each row is a `CheckResult` (`result`) with a pass, warn or fail status.
"""

from kiosk.doctor.checks import CHECKS, run_checks, run_doctor
from kiosk.doctor.context import DoctorContext
from kiosk.doctor.report import DoctorReport
from kiosk.doctor.result import CheckResult, Status

__all__ = [
    "CHECKS",
    "CheckResult",
    "DoctorContext",
    "DoctorReport",
    "Status",
    "run_checks",
    "run_doctor",
]
