"""Marketing consent per channel: the bit set, the events that change it, and what messaging may send."""

import pytest

from tenants.domain import consent


def test_changes_to_names_one_event_per_channel_that_differs_in_channel_order():
    sms, wechat, email, phone = (consent.BITS[c] for c in consent.CHANNELS)
    assert consent.changes_to(0, 0) == []
    assert consent.changes_to(sms | email, sms | email) == []
    assert consent.changes_to(sms | email, wechat | email) == [
        consent.ConsentChange("sms", False), consent.ConsentChange("wechat", True)]
    assert [c.channel for c in consent.changes_to(0, consent.ALL)] == list(consent.CHANNELS)
    assert all(not c.granted for c in consent.changes_to(consent.ALL, 0))
    assert consent.bits_of(["phone", "sms"]) == sms | phone


def test_folding_the_events_gives_the_bit_set_they_leave():
    events = [("sms", True), ("email", True), ("sms", False), ("phone", True), ("phone", True)]
    bits = consent.fold(0, events)
    assert consent.channels_of(bits) == {"email", "phone"}
    assert consent.may_send(bits, "email") and not consent.may_send(bits, "sms")
    assert consent.fold(consent.ALL, [("wechat", False)]) == consent.ALL & ~consent.BITS["wechat"]
    for start in range(consent.ALL + 1):  # the events changes_to names always lead to the wanted set
        for wanted in range(consent.ALL + 1):
            steps = [(c.channel, c.granted) for c in consent.changes_to(start, wanted)]
            assert consent.fold(start, steps) == wanted


def test_an_unknown_channel_is_refused():
    with pytest.raises(ValueError):
        consent.bits_of(["fax"])
