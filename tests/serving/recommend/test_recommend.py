"""Top-k for users, cold starts and similar items, as a caller of each method sees them."""

from __future__ import annotations

import numpy as np
import pytest

from webapp.serving.errors import InvalidInput

from .conftest import devoted_users, genre_of, load


def test_top_k_leaves_out_what_the_user_has_seen_and_is_ranked(recommender):
    for user in recommender.data.user_ids[:50]:
        answer = recommender.recommend([user], 10)[0]
        seen = {item for item, _, _ in recommender.history(user)}
        assert len(answer.items) == 10
        assert not seen & set(answer.items)
        assert answer.scores == sorted(answer.scores, reverse=True)
        assert answer.basis == "history"


def test_seen_items_may_come_back_when_asked(recommender):
    user = recommender.data.user_ids[0]
    seen = {item for item, _, _ in recommender.history(user)}
    answer = recommender.recommend([user], 10, exclude_seen=False)[0]
    assert seen & set(answer.items)


def test_recommendations_follow_a_users_favourite_genre(recommender, generated):
    """The generator gives some users one dominant genre; CF must find it, popularity cannot."""
    _, _, tastes = generated
    shares, popular_shares = [], []
    for user, genre in devoted_users(tastes):
        user_id = recommender.data.user_ids[user]
        names = recommender.recommend([user_id], 5)[0].names
        shares.append(np.mean([genre_of(n) == genre for n in names]))
        popular_shares.append(np.mean([genre_of(n) == genre for n in recommender.popular(5).names]))
    assert len(shares) >= 20
    assert np.mean(shares) > 0.5 > 0.25 > np.mean(popular_shares)


def test_a_batch_of_users_answers_as_each_user_alone(recommender):
    users = list(recommender.data.user_ids[:300])  # more than one scoring block
    batch = recommender.recommend(users, 7)
    assert [a.items for a in batch] == [recommender.recommend([u], 7)[0].items for u in users]


def test_an_unknown_user_gets_the_popular_items(recommender):
    answers = recommender.recommend(["nobody", recommender.data.user_ids[0]], 5)
    assert answers[0].basis == "popular"
    assert answers[0].items == recommender.popular(5).items
    assert answers[1].basis == "history"


def test_an_unknown_user_is_refused_when_the_manifest_says_so(version_folders):
    strict = load(version_folders["svd"], cold_start="error")
    with pytest.raises(InvalidInput, match="Unknown user ids: 'nobody'"):
        strict.recommend(["u001", "nobody"], 5)


def test_cold_start_from_items_of_one_genre_recommends_that_genre(recommender):
    drama = [i for i, n in zip(recommender.data.item_ids, recommender.data.item_names, strict=True)
             if genre_of(n) == "Drama"][:3]
    answer = recommender.recommend_from_items(drama, 5)
    assert answer.basis == "items"
    assert not set(drama) & set(answer.items)
    assert sum(genre_of(n) == "Drama" for n in answer.names) >= 3


def test_cold_start_with_no_items_is_the_popular_list(recommender):
    assert recommender.recommend_from_items([], 4) == recommender.popular(4)


def test_similar_items_share_the_genre_and_leave_the_item_out(recommender):
    shares = []
    for item, name in list(zip(recommender.data.item_ids, recommender.data.item_names, strict=True))[:40]:
        answer = recommender.similar_items(item, 5)
        assert item not in answer.items
        assert len(answer.items) == 5
        shares.append(np.mean([genre_of(n) == genre_of(name) for n in answer.names]))
    assert np.mean(shares) > 0.6


def test_unknown_items_are_named_in_the_error_and_long_ids_cut(recommender):
    with pytest.raises(InvalidInput, match=r"^Unknown item ids: 'nope', 'x{64}\.\.\.'$"):
        recommender.recommend_from_items(["i001", "nope", "x" * 500], 5)
    with pytest.raises(InvalidInput, match="^Unknown item ids: 'nope'$"):
        recommender.similar_items("nope", 5)


@pytest.mark.parametrize("k", [0, -1, 101, 121, "10", 2.5, True, None])
def test_k_out_of_range_or_of_the_wrong_type_is_refused(recommender, k):
    if k is None:
        assert len(recommender.recommend(["u001"], k)[0].items) == 10  # the manifest's default
        return
    with pytest.raises(InvalidInput, match=r"k must be a whole number from 1 to 100, got"):
        recommender.recommend(["u001"], k)
    with pytest.raises(InvalidInput, match="k must be"):
        recommender.similar_items("i001", k)


@pytest.mark.parametrize("method", ["user_cosine", "item_cosine", "svd"])
def test_a_user_who_has_seen_almost_everything_gets_only_what_is_left(method):
    from webapp.serving.recommend import Interactions, RecommendConfig, Recommender
    from webapp.serving.recommend.fit import check_method, fit_parts

    data = Interactions.from_triples(["a", "a", "a", "b", "b", "c"], ["x", "y", "z", "x", "w", "w"],
                                     [5, 4, 3, 2, 5, 1])
    params = check_method(method, {"components": 2} if method == "svd" else {})
    rec = Recommender(data, RecommendConfig(method, params), fit_parts(data.matrix, method, params))
    assert rec.recommend(["a"], 3)[0].items == ["w"]
    assert rec.check_k(4) == 4
    with pytest.raises(InvalidInput, match="from 1 to 4, got 5"):
        rec.recommend(["a"], 5)


def test_ids_that_are_not_strings_are_refused(recommender):
    with pytest.raises(InvalidInput, match="User ids must be a list of strings"):
        recommender.recommend([42], 5)
    with pytest.raises(InvalidInput, match="Item ids must be a list of strings"):
        recommender.recommend_from_items(["i001", None], 5)
    with pytest.raises(InvalidInput, match="Item ids must be a list of strings"):
        recommender.similar_items(7, 5)
