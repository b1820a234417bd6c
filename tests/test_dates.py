"""Strict timestamps: ISO is never day-first, one order per column, impossible dates rejected."""
import pandas as pd
import pytest

from geo import GeoInputError, io
from geo.io import parse_timestamps


def calls_file(tmp_path, whens):
    f = tmp_path / "calls.csv"
    f.write_text("id,type,when,lon,lat\n" + "".join(f"{i},Drugs,{w},-1.47,53.38\n" for i, w in enumerate(whens)))
    return f


def mapping(**kw):
    return io.ColumnMapping(name="m", category="type", timestamp="when", x="lon", y="lat", id="id", **kw)


def test_iso_datetime_is_never_day_first(tmp_path):
    """Memphis: 2019-01-02T09:38 was read as 1 February."""
    r = io.read_incidents(calls_file(tmp_path, ["2019-01-02T09:38", "2019-01-13T23:59", "2019-12-01T00:00"]),
                          mapping())
    assert list(r.frame["date"]) == ["2019-01-02T09:38:00", "2019-01-13T23:59:00", "2019-12-01T00:00:00"]
    assert list(r.frame["month"]) == ["2019-01", "2019-01", "2019-12"]


def test_iso_date_is_never_day_first(tmp_path):
    """2024-04-10 was read as 4 October."""
    r = io.read_incidents(calls_file(tmp_path, ["2024-04-10", "2024-04-11"]), mapping())
    assert list(r.frame["month"]) == ["2024-04", "2024-04"]
    assert r.frame["date"].iloc[0] == "2024-04-10T00:00:00"


def test_month_13_is_rejected_with_its_row(tmp_path):
    """2019-13-01T01:30 was taken as 13 January."""
    r = io.read_incidents(calls_file(tmp_path, ["2019-01-05T10:00", "2019-13-01T01:30"]), mapping())
    assert r.report.outcomes["rejected"] == 1 and len(r.frame) == 1
    rej = r.report.rejected.iloc[0]
    assert rej["row"] == 3 and rej["column"] == "when" and rej["reason"].startswith("impossible date")
    assert "2019-13-01T01:30" in rej["raw"]


def test_day_and_time_without_a_year_is_rejected_not_year_1(tmp_path):
    """'01 01:30:00' was read as the year 0001."""
    r = io.read_incidents(calls_file(tmp_path, ["2019-01-05T10:00", "01 01:30:00"]), mapping())
    assert r.report.rejected["reason"].tolist() == ["bad date (unrecognised format)"]
    assert r.report.rejected["row"].tolist() == [3]
    assert set(r.frame["month"]) == {"2019-01"}


def test_ambiguous_column_is_refused_and_asks_for_the_format(tmp_path):
    f = calls_file(tmp_path, ["03/04/2024", "05/06/2024 10:00", "01/02/2024"])
    with pytest.raises(GeoInputError, match=r"ambiguous.*03/04/2024.*mapping 'm'.*date_format.*dayfirst"):
        io.read_incidents(f, mapping())
    uk = io.read_incidents(f, mapping(dayfirst=True)).frame["date"].tolist()
    us = io.read_incidents(f, mapping(dayfirst=False)).frame["date"].tolist()
    fmt = io.read_incidents(f, mapping(date_format="%d/%m/%Y")).frame["date"].tolist()
    assert uk[0] == "2024-04-03T00:00:00" and us[0] == "2024-03-04T00:00:00"
    assert fmt == ["2024-04-03T00:00:00", "2024-02-01T00:00:00"]  # the 10:00 row does not fit the format


def test_a_value_valid_one_way_settles_the_column_and_is_reported(tmp_path):
    r = io.read_incidents(calls_file(tmp_path, ["03/04/2024 10:00", "13/04/2024 09:00"]), mapping())
    assert r.frame["date"].tolist() == ["2024-04-03T10:00:00", "2024-04-13T09:00:00"]
    assert any("day-first" in w and "line 3 '13/04/2024 09:00'" in w for w in r.report.warnings)
    us = io.read_incidents(calls_file(tmp_path, ["03/04/2024", "04/13/2024"]), mapping())
    assert us.frame["date"].tolist() == ["2024-03-04T00:00:00", "2024-04-13T00:00:00"]
    assert any("month-first" in w for w in us.report.warnings)


def test_a_column_mixing_both_orders_is_refused(tmp_path):
    with pytest.raises(GeoInputError, match=r"mix day-first.*line 2.*month-first.*line 3"):
        io.read_incidents(calls_file(tmp_path, ["13/04/2024", "04/13/2024"]), mapping())


def test_impossible_and_out_of_range_dates_are_rejected_row_by_row():
    r = parse_timestamps(pd.Series(["13/04/2024", "32/01/2024", "12/13/2024", "01/01/1850", "01/01/2999",
                                    "14/04/2024 25:00", ""]), dayfirst=True)
    assert r.values.iloc[0] == pd.Timestamp("2024-04-13")
    bad = {reason: [i for i, b in enumerate(m) if b] for reason, m in r.rejected.items()}
    assert bad == {"missing date": [6],
                   "impossible date (no such day, month or time)": [1, 2, 5],
                   "impossible date (before 1900 or in the future)": [3, 4]}


def test_a_value_in_another_format_than_the_column_is_rejected():
    r = parse_timestamps(pd.Series(["2024-04-10", "2024-04-11 10:00", "10/04/2024"]))
    assert r.values.notna().tolist() == [True, True, False]
    assert list(r.rejected) == ["bad date (not in the column's format, ISO 8601 (YYYY-MM-DD))"]


def test_serial_dates_still_read():
    r = parse_timestamps(pd.Series(["42583", "42583.5"]))
    assert r.values.tolist() == [pd.Timestamp("2016-08-01"), pd.Timestamp("2016-08-01 12:00")]


def test_dayfirst_survives_a_saved_mapping():
    m = mapping(dayfirst=False)
    assert io.ColumnMapping.from_dict(m.to_dict()).dayfirst is False


def test_a_police_uk_month_in_the_future_is_rejected(tmp_path):
    import csv
    f = tmp_path / "street.csv"
    with open(f, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(io.POLICE_UK_STREET_COLUMNS)
        for month in ("2024-01", "2099-01"):
            w.writerow(["", month, "SYP", "SYP", "-1.47", "53.38", "On or near X", "E01", "S 001A", "Burglary", "", ""])
    r = io.read_police_uk(f)
    assert r.frame["month"].tolist() == ["2024-01"]
    assert r.report.rejected[["row", "reason"]].values.tolist() == [[3, "impossible date (a month in the future)"]]


def test_date_messages_name_the_physical_line_after_a_quoted_newline(tmp_path):
    f = tmp_path / "calls.csv"
    f.write_text('id,type,when,lon,lat,note\n1,Drugs,03/04/2024,-1.47,53.38,"two\nlines"\n'
                 "2,Drugs,05/06/2024,-1.47,53.38,x\n3,Drugs,13/13/2024,-1.47,53.38,x\n")
    with pytest.raises(GeoInputError, match=r"ambiguous.*line 2: '03/04/2024'"):
        io.read_incidents(f, mapping())
    r = io.read_incidents(f, mapping(dayfirst=True))
    assert r.report.rejected[["row", "reason"]].values.tolist() == [
        [5, "impossible date (no such day, month or time)"]]
    f.write_text('id,type,when,lon,lat,note\n1,Drugs,03/04/2024,-1.47,53.38,"two\nlines"\n'
                 "2,Drugs,05/06/2024,-1.47,53.38,x\n3,Drugs,04/13/2024,-1.47,53.38,x\n")
    r = io.read_incidents(f, mapping())
    assert any("settled by line 5 '04/13/2024'" in w for w in r.report.warnings)
