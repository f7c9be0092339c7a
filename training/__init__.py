"""Training, evaluation, recording and annotation for the hand model.

``fit``, ``export`` and ``evaluate`` need the ``train`` extra (torch, onnx); ``record`` and
``annotate`` need only handplay's own dependencies.
"""
