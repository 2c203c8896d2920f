"""Course tooling: the helpers the exercises' tests call (`checks`) and the nbgrader wrapper.

* `nncourse.checks`: comparison, diagnosis and isolation helpers used by the visible and
  hidden tests of the graded exercises;
* `nncourse.nbgrader_api`: generate the exercises from `solutions/`, autograde submissions
  and read the scores back, through nbgrader's Python API.

Neither module is imported here, so `import nnlib` stays light.
"""
