"""The skipped-files report: counts and reasons for the JSON, the first names for the text."""
from dataset_tools.skipped import SHOWN_ITEMS, format_skipped, skip_report


def test_report_counts_and_explains_known_reasons():
    report = skip_report({"jpeg_missing": ["a", "b"], "other": []}, {"jpeg_missing": ".mat file without its JPEG"})
    assert report == {"jpeg_missing": {"count": 2, "why": ".mat file without its JPEG", "items": ["a", "b"]},
                      "other": {"count": 0, "items": []}}


def test_text_shows_the_first_names_and_how_many_more():
    names = [f"img{i}" for i in range(SHOWN_ITEMS + 2)]
    lines = format_skipped(skip_report({"empty": [], "xml_unreadable": names, "jpeg_missing": ["z"]},
                                       {"jpeg_missing": "no JPEG"}))
    assert lines == (["skipped: 8", "  xml_unreadable: 7"] + [f"    {n}" for n in names[:SHOWN_ITEMS]]
                     + ["    ... 2 more", "  jpeg_missing (no JPEG): 1", "    z"])
