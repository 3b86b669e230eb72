from scipy.optimize import curve_fit


def logistic(t, k, t0, L):
    return L / (1 + np.exp(-k * (t - t0)))


params, cov = curve_fit(logistic, days, cases, p0=[0.2, 40, 1e5])
params
