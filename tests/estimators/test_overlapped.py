"""OGM: the authors' settings, initial shares and cut (copies=T); the cut's bias is exactly its
unmeasured terms."""

from __future__ import annotations

import numpy as np
import pytest

from hybridq.estimators import OverlappedGrouping, PauliTerms
from hybridq.estimators.overlapped import charged_cost, overlapped_settings
from hybridq.estimators.terms import I
from hybridq.operators import PauliSum


def test_settings_and_shares_follow_the_term_order():
    # |a| ties are broken by the sum's own order: the first of the tied terms seeds a setting
    H = PauliSum.from_list([("ZZ", 1.0), ("XX", 1.0), ("ZI", 0.5), ("IX", 0.25)])
    settings, shares = overlapped_settings(PauliTerms.from_operator(H))
    assert settings.tolist() == [[3, 3], [1, 1]]
    # each setting's share: its seed and the later terms it absorbs (ZZ: ZI; XX: IX)
    np.testing.assert_allclose(shares, np.array([1.5, 1.25]) / 2.75)


def test_uncut_settings_cover_every_term(lih):
    H, _ = lih
    est = OverlappedGrouping(H).fit()
    assert np.all(est.coverage(est.terms.codes) > 0)


def test_cut_keeps_fewer_settings_at_lower_charged_cost(lih):
    H, _ = lih
    full = OverlappedGrouping(H, estimator="ratio").fit()
    cut = OverlappedGrouping(H, estimator="ratio", copies=100).fit()
    assert len(cut.settings) < len(full.settings)
    assert {bytes(s) for s in cut.settings} <= {bytes(s) for s in full.settings}
    codes, weights = cut.terms.codes, cut.terms.coeffs**2
    settings, shares = overlapped_settings(cut.terms)
    start = np.stack([np.all((codes == I) | (codes == np.where(s == I, 3, s)), axis=1) for s in settings])
    cover = np.stack([np.all((codes == I) | (codes == s), axis=1) for s in cut.settings])
    assert charged_cost(cover, weights, cut.probabilities, 100) < charged_cost(start, weights, shares, 100)
    assert cut.probabilities.sum() == pytest.approx(1.0)


def test_cut_bias_is_the_unmeasured_terms(lih):
    H, psi = lih
    est = OverlappedGrouping(H, estimator="ratio", copies=100).fit()
    missed = est.coverage(est.terms.codes) == 0
    assert missed.any()
    values = PauliSum.from_masks(est.terms.paulis.x[missed], est.terms.paulis.z[missed],
                                 est.terms.coeffs[missed]).expectation(psi)
    res = est.run(psi, 400_000, seed=4)
    assert res.uncovered == missed.sum()
    assert abs(res.value - (est.exact(psi) - values)) < 4 * res.stderr


def test_cut_needs_the_ratio_estimator():
    H = PauliSum.from_list([("ZZ", 1.0)])
    with pytest.raises(ValueError, match="estimator='ratio'"):
        OverlappedGrouping(H, copies=100)
    with pytest.raises(ValueError, match="positive"):
        OverlappedGrouping(H, estimator="ratio", copies=0)


def test_given_settings_are_used_as_given(h2):
    H, psi = h2
    fitted = OverlappedGrouping(H, estimator="ratio").fit()
    given = OverlappedGrouping.with_settings(H, fitted.settings, fitted.probabilities)
    np.testing.assert_allclose(given.coverage(given.terms.codes), fitted.coverage(fitted.terms.codes))
    assert given.run(psi, 2000, seed=1).value == fitted.run(psi, 2000, seed=1).value
    with pytest.raises(ValueError, match="sum to 1"):
        OverlappedGrouping.with_settings(H, fitted.settings, 2 * fitted.probabilities)
    with pytest.raises(Exception, match="probabilities"):
        OverlappedGrouping.with_settings(H, fitted.settings, fitted.probabilities[:-1])
