"""The recording and annotation tool: record clips, then label hands in them with markers that
optical flow carries from frame to frame.

- :mod:`~training.annotate.record`: ``python -m training.record`` records webcam clips;
- :mod:`~training.annotate.app`: ``python -m training.annotate CLIP.mp4``, the pygame tool;
- :mod:`~training.annotate.store` (labels, undo, atomic saves), :mod:`~training.annotate.video`
  (frame access), :mod:`~training.annotate.draw` (drawing), :mod:`~training.annotate.batch`
  (propagation without a window);
- :mod:`~training.annotate.flow`: the optical-flow marker propagation;
  :mod:`~training.annotate.bench` measures it.

Nothing here needs torch; the labels it writes are :mod:`training.labels`'s format.
"""
