"""The validation-free inference path (bot.nlu.fast) gives the pipeline's own probabilities."""

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline

from bot.nlu.classifier import SoftmaxSVC
from bot.nlu.engine import SklearnEngine, build_pipeline, train
from bot.nlu.fast import FastPredictor

ODD = ["", "   ", "?!", "🔥🔥🔥", "ÄÖÜ coördinator café", "a" * 5000, "zzzzqqq xyzzy",
       "mijn rookmelder piept", "someone is breaking into my house right now",
       "hoe vraag ik een evenementenvergunning aan", "\u200bhidden\u200bwords", "1053 KL"]


def test_the_fast_path_matches_predict_proba_on_the_library_model(trained_engine, library_files) -> None:  # type: ignore[no-untyped-def]
    texts = ODD + [e.text for e in library_files.examples[::7]]
    assert isinstance(FastPredictor.of(trained_engine.pipeline), FastPredictor)
    fast = trained_engine.probabilities(texts)
    slow = trained_engine.pipeline.predict_proba(texts)
    assert fast.shape == slow.shape
    np.testing.assert_allclose(fast, slow, rtol=1e-9, atol=1e-12)
    one = trained_engine.parse("my smoke alarm keeps beeping")
    assert one.ranking[0].name == "fire_alarm_beeping"


def test_a_two_intent_model_and_binary_counts_agree_too() -> None:
    texts = ["fire in the kitchen", "smoke everywhere", "bike stolen", "my bicycle is gone"] * 3
    labels = ["fire", "fire", "bike", "bike"] * 3
    pipeline = Pipeline([
        ("features", FeatureUnion([("w", TfidfVectorizer(binary=True)),
                                   ("c", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 3),
                                                         use_idf=False, norm=None))])),
        ("clf", SoftmaxSVC(temperature=0.5)),
    ])
    engine = train(texts, labels, pipeline).engine
    probe = ["kitchen fire", "stolen bicycle", "", "nothing known"]
    np.testing.assert_allclose(engine.probabilities(probe), pipeline.predict_proba(probe), rtol=1e-9)


def test_a_pipeline_it_does_not_know_uses_scikit_learn() -> None:
    pipeline = build_pipeline(use_embeddings=False)
    pipeline.steps[0][1].transformer_list[0][1].set_params(norm="l1")
    texts = ["fire in the kitchen", "bike stolen"] * 4
    engine = SklearnEngine(train(texts, ["fire", "bike"] * 4, pipeline).engine.pipeline, "v")
    assert FastPredictor.of(engine.pipeline) is None
    np.testing.assert_allclose(engine.probabilities(["kitchen"]), pipeline.predict_proba(["kitchen"]))
