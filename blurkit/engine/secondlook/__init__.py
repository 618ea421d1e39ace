"""The second look at every output before review (DESIGN.md "Second look").

`SecondLook.look(original, output, hidden, candidates)` returns the pointers a review page
must show (`Pointer`: box, kind, why, score); `photo.look_at_photo` is the pipeline's call
site; `video.VideoLook` samples output frames of a clip; `people.counts` says how many of
the hidden detections are faces a person would call faces; `needs_look(report)` is the
review queue's flag: set exactly when the report lists a pointer.
"""

from blurkit.engine.secondlook.look import (
                                     KINDS,
                                     Look,
                                     LookParams,
                                     Observation,
                                     Pointer,
                                     SecondLook,
                                     judge,
                                     needs_look,
)
from blurkit.engine.secondlook.people import counts, is_person_face

__all__ = ["KINDS", "Look", "LookParams", "Observation", "Pointer", "SecondLook", "judge",
           "needs_look", "counts", "is_person_face"]
