from blurkit.engine.track import Track, Tracker, box_at, track_boxes


def test_a_moving_face_keeps_one_track_across_a_missed_frame():
    tr = Tracker(max_gap=5)
    ids = [tr.update(f, [(10 + 4 * f, 10, 40 + 4 * f, 50)], [0.9])[0] for f in (0, 1, 2, 4, 5)]
    assert len(set(ids)) == 1 and len(tr.tracks) == 1
    assert tr.tracks[0].frames == [0, 1, 2, 4, 5]


def test_two_faces_two_tracks_and_a_gap_too_long_starts_a_new_track():
    tr = Tracker(max_gap=3)
    a, b = tr.update(0, [(0, 0, 30, 30), (200, 0, 230, 30)], [0.9, 0.8])
    assert a != b
    assert tr.update(1, [(201, 0, 231, 30), (1, 0, 31, 30)], [0.8, 0.9]) == [b, a]
    assert tr.update(10, [(0, 0, 30, 30)], [0.9]) not in ([a], [b])


def test_small_fast_face_that_moved_off_its_box_is_still_linked():
    tr = Tracker(max_gap=5)
    first = tr.update(0, [(100, 100, 116, 116)], [0.5])[0]
    tr.update(2, [(110, 100, 126, 116)], [0.5])           # moved 10 px in 2 frames
    # predicted at 4: x=120..136; the face went further (IoU 0.1, below the usual 0.2), but
    # it still touches the prediction and has the same size
    assert tr.update(4, [(133, 101, 149, 117)], [0.5])[0] == first
    # a box of very different size that barely touches is another face
    assert tr.update(5, [(150, 101, 250, 201)], [0.5])[0] != first


def test_boxes_are_interpolated_between_detections_and_held_around_them():
    track = Track(id=0, frames=[10, 14], boxes=[(0, 0, 20, 20), (8, 0, 28, 20)], scores=[1, 1])
    boxes = track_boxes(track, n_frames=100, hold=3, step=1)
    assert sorted(boxes) == list(range(7, 18))
    x1, _, x2, _ = boxes[12]                       # halfway: x from 4 to 24, grown by 4
    assert x1 <= 4 and x2 >= 24
    # before the first detection the box is held and grows with the face's speed (2 px/frame)
    assert boxes[7] == (0 - 6.0, 0 - 6.0, 20 + 6.0, 20 + 6.0)
    assert boxes[17][2] >= 28 + 6.0 - 1e-9


def test_hold_is_at_least_one_detection_interval_and_clipped_to_the_clip():
    track = Track(id=0, frames=[0], boxes=[(0, 0, 10, 10)], scores=[1])
    boxes = track_boxes(track, n_frames=3, hold=1, step=4)
    assert sorted(boxes) == [0, 1, 2]
    assert box_at(track, 5, hold=1, step=4) is None and box_at(track, 4, hold=1, step=4) is not None


def test_background_detection_tracks_in_order_and_hands_errors_to_the_writer():
    import threading

    import numpy as np
    import pytest

    from blurkit.detect.common import Detection
    from blurkit.engine.videoflow import _BackgroundDetection
    from blurkit.media.video import Frame

    seen = []

    class Search:
        def detect(self, img):
            seen.append(img.shape)
            if img[0, 0, 0] == 255:
                raise RuntimeError("decoder gave garbage")
            return [Detection((10.0, 10.0, 30.0, 40.0), 0.9)]

    def frame(i, value=0, side=100):
        return Frame(i, i / 25, i, np.full((side, side, 3), value, np.uint8))

    tracker = Tracker()
    bg = _BackgroundDetection(Search(), tracker, step=2)
    bg.start()
    for i in range(0, 10, 2):
        bg.submit(frame(i), 50)
    bg.wait_for(9)                                   # frames 0..8 sampled: all tracked
    assert tracker.tracks[0].frames == [0, 2, 4, 6, 8]
    assert seen == [(50, 50, 3)] * 5                 # reduced in the detection thread
    assert tracker.tracks[0].boxes[0] == pytest.approx((20.0, 20.0, 60.0, 80.0))  # full size
    bg.submit(frame(10, 255), 50)
    with pytest.raises(RuntimeError, match="garbage"):
        bg.wait_for(10)
    bg.stop()

    # a painting waiting for detections that will never come is released by stop()
    bg = _BackgroundDetection(Search(), Tracker(), step=2)
    bg.start()
    errors = []

    def paint():
        try:
            bg.wait_for(20)
        except RuntimeError as exc:
            errors.append(exc)

    waiting = threading.Thread(target=paint)
    waiting.start()
    bg.submit(frame(0), 50)
    bg.stop()
    waiting.join(timeout=10)
    assert not waiting.is_alive() and "stopped" in str(errors[0])


def test_background_detection_infers_two_frames_at_once_and_tracks_them_in_order():
    import threading

    import numpy as np

    from blurkit.detect.common import Detection
    from blurkit.engine.videoflow import _BackgroundDetection
    from blurkit.media.video import Frame

    first_started, second_started = threading.Event(), threading.Event()

    class Search:
        def detect(self, img):
            index = int(img[0, 0, 0])
            if index == 0:       # the first frame finishes only once the next one is running
                first_started.set()
                assert second_started.wait(timeout=10), "the second frame never started"
            else:
                second_started.set()
            return [Detection((10.0 * index, 0.0, 10.0 * index + 8, 8.0), 0.9)]

    updates = []

    class Recording(Tracker):
        def update(self, index, boxes, scores):
            updates.append(index)
            return super().update(index, boxes, scores)

    bg = _BackgroundDetection(Search(), Recording(), step=1, workers=2)
    bg.start()
    # the next frame arrives only while the first is being inferred (as when the decoder is
    # slower than the start of an inference): it must still go to the free worker at once
    bg.submit(Frame(0, 0.0, 0, np.zeros((20, 20, 3), np.uint8)), 50)
    assert first_started.wait(timeout=10)
    for i in range(1, 6):
        bg.submit(Frame(i, i / 25, i, np.full((20, 20, 3), i, np.uint8)), 50)
    bg.finish()
    bg.wait_for(5)
    bg.stop()
    assert updates == [0, 1, 2, 3, 4, 5]


def test_a_cut_ends_every_track_and_nothing_links_across_it():
    from blurkit.engine.track import vouched
    tr = Tracker(max_gap=10)
    a = tr.update(0, [(10, 10, 50, 50)], [0.9])[0]
    tr.update(3, [(10, 10, 50, 50)], [0.9])
    tr.cut(5)
    b = tr.update(6, [(10, 10, 50, 50)], [0.9])[0]       # same place, after the cut
    assert a != b
    ta, tb = tr.tracks[a], tr.tracks[b]
    assert ta.hi == 4 and tb.lo == 5
    # the masks still reach over the cut (coverage), but only as hidden
    assert box_at(ta, 6, hold=3) is not None and not vouched(ta, 6) and vouched(ta, 4)
    assert box_at(tb, 4, hold=3) is not None and not vouched(tb, 4) and vouched(tb, 5)


def test_a_split_gives_the_rest_of_a_track_to_a_new_live_track():
    from blurkit.engine.track import vouched
    tr = Tracker(max_gap=10)
    tid = tr.update(0, [(10, 10, 50, 50)], [0.9])[0]
    for f in (3, 6, 9):
        tr.update(f, [(10, 10, 50, 50)], [0.9])
    new = tr.split(tr.tracks[tid], 2)
    old = tr.tracks[tid]
    assert old.frames == [0, 3] and new.frames == [6, 9]
    assert tr.update(12, [(10, 10, 50, 50)], [0.9])[0] == new.id    # the new one lives on
    # frames 4-5 lie between the pieces: both cover them, neither may show them
    for f in (4, 5):
        assert any(box_at(t, f, hold=3) is not None for t in (old, new))
        assert not vouched(old, f) and not vouched(new, f)
    assert vouched(old, 3) and vouched(new, 6)
