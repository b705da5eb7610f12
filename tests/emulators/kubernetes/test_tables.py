"""Server-side tables (what `kubectl get` prints): "date" columns as kube-apiserver renders them.

k8s.io/apimachinery/pkg/util/duration.HumanDuration, used by the CRD table convertor for
additionalPrinterColumns of type date.
"""

from __future__ import annotations

import pytest

from tokensync.emulators.kubernetes.tables import human_duration


@pytest.mark.parametrize(("seconds", "printed"), [
    (-120, "<invalid>"),   # a future time: why tokensync's Expires and Next Refresh are strings
    (-2, "<invalid>"),
    (-1, "0s"),            # up to a second ahead counts as now (clock skew)
    (0, "0s"),
    (119, "119s"),
    (190, "3m10s"),
    (600, "10m"),
    (179 * 60, "179m"),
    (3 * 3600 + 5 * 60, "3h5m"),
    (47 * 3600, "47h"),
    (49 * 3600, "2d1h"),
    (8 * 24 * 3600, "8d"),
    (800 * 24 * 3600, "2y70d"),
    (9 * 365 * 24 * 3600, "9y"),
])
def test_date_columns_print_like_kube_apiserver(seconds: int, printed: str) -> None:
    assert human_duration(seconds) == printed
