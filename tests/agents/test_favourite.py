import numpy as np

from laetitia.agents import favourite

N = 8


def test_the_bump_points_at_a_favourite_its_readings_never_came_near() -> None:
    """Readings at least 1 away from a broad favourite: the fit's centre is far nearer it
    than the best reading is."""
    for seed in range(3):
        rng = np.random.default_rng(seed)
        centre = rng.uniform(-0.5, 0.5, N)
        points = rng.uniform(-1.0, 1.0, (200, N))
        points = points[np.linalg.norm(points - centre, axis=1) > 1.0][:40]
        truth = np.concatenate([[0.1, np.log(0.7)], centre, np.zeros(N), [0.0]])
        values = favourite.predict(truth, points) + 0.02 * rng.standard_normal(points.shape[0])
        best = points[int(np.argmax(values))]
        fitted = favourite.fit(points, values, None, [favourite.initial_theta(best, values)])
        distance = np.linalg.norm(favourite.centre(fitted, N) - centre)
        assert distance < 0.6 < 1.0 < np.linalg.norm(best - centre), (seed, distance)


def test_the_jacobian_is_the_predictions_derivative() -> None:
    rng = np.random.default_rng(1)
    points, tiring = rng.uniform(-1.0, 1.0, (5, N)), rng.uniform(0.0, 0.9, 5)
    theta = np.concatenate([[0.1, -0.5], rng.uniform(-0.5, 0.5, N), rng.uniform(-1, 0, N), [0.3]])
    _, jac = favourite._predict_and_jacobian(theta, points, tiring)
    step = 1e-6
    for i in range(theta.size):
        up, down = theta.copy(), theta.copy()
        up[i] += step
        down[i] -= step
        numeric = favourite.predict(up, points, tiring) - favourite.predict(down, points, tiring)
        np.testing.assert_allclose(jac[:, i], numeric / (2 * step), rtol=1e-5, atol=1e-8)


def test_habituation_takes_its_share_off_the_bump() -> None:
    theta = favourite.initial_theta(np.zeros(N), np.array([0.1, 0.6]), width=1.0)
    theta[-1] = 0.0  # half of the appeal at full habituation
    at_centre = np.zeros((2, N))
    rested, tired = favourite.predict(theta, at_centre, np.array([0.0, 1.0]))
    assert rested == np.float64(0.6) and tired == np.float64(0.1 + 0.25)
