from napari_roadlabel.core.wording import counted


def test_counts_take_the_plural_except_for_one():
    assert [counted(n, "frame") for n in (0, 1, 2)] == ["0 frames", "1 frame", "2 frames"]
    assert counted(3, "warning or note", "warnings or notes") == "3 warnings or notes"
