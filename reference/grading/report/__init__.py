"""What a student reads about a failing item, and can act on.

* :mod:`.shrink` -- the smallest configuration that still fails the same way (attached by the engine);
* :mod:`.calls` -- that case written as the student's own call, arrays under the student's names;
* :mod:`.arrays` -- arrays printed in full with the wrong elements marked, and the grader's tolerance;
* :mod:`.heatmap` -- where the gradient is wrong: |got - expected| per (sample, channel) plane, as a PNG
  (matplotlib, optional) or a text map, with the stride phases and the padding border drawn;
* :mod:`.reproduce` -- a standalone script and an .npz that rerun the case on the student's module, NumPy only;
* :mod:`.page` -- the terminal text, the Markdown of Gradescope's results.json, and one self-contained HTML page.
"""
