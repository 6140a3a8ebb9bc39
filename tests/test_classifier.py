"""One classifier protocol and decision rule for text and image classifiers."""

from __future__ import annotations

import numpy as np

from entertainai.analytics.text_data import LabelledTexts
from entertainai.analytics.tfidf_linear import TfidfLinear
from entertainai.classifier import Classifier, decide, label_names
from entertainai.moderation.image import ImageClassifier


def test_decide_single_and_multi_label():
    p = np.array([[0.5, 0.3, 0.2], [0.1, 0.45, 0.45]])
    np.testing.assert_array_equal(decide(p, np.full(3, 0.5), False), [[1, 0, 0], [0, 1, 0]])
    # A lower threshold for the last class moves the tie (and close calls) its way.
    np.testing.assert_array_equal(decide(p, [0.5, 0.5, 0.4], False), [[1, 0, 0], [0, 0, 1]])
    np.testing.assert_array_equal(decide(p, [0.4, 0.4, 0.4], True), [[1, 0, 0], [0, 1, 1]])
    assert label_names(decide(p, [0.4] * 3, True), ("a", "b", "c")) == [["a"], ["b", "c"]]


def test_text_and_image_classifiers_share_the_protocol():
    texts = ["good fun", "bad dull", "good great", "bad awful"] * 3
    labels = [("pos",), ("neg",), ("pos",), ("neg",)] * 3
    text_model = TfidfLinear().fit(LabelledTexts(texts, labels, False))
    image_model = ImageClassifier()
    image_model.classes_ = ("cat", "dog")
    for model in (text_model, image_model):
        assert isinstance(model, Classifier)
        assert model.labels_ == model.classes_ and not model.multi_label_
        assert len(model.thresholds_) == len(model.classes_)
    assert text_model.predict(["good"]).labels() == [["pos"]]
