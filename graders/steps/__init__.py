"""One module per step of a submission's way through the harness.

    intake -> prepare -> execute -> evaluate -> check -> score -> record   (per submission)
    integrity -> report                                                    (per class, after the runs)

Each per-submission step is a function over one :class:`graders.state.GradeState`;
:mod:`graders.pipeline` runs them in order, times them and turns any failure
into a graded record; the class steps are functions over one :class:`graders.state.ClassState`.
"""
