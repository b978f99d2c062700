"""The reviewed list of type names a `.skops` artifact may name (see `skops_types` for why).

Every entry is an exact `module.name`. Estimators are scikit-learn's public ones (from
`sklearn.utils.all_estimators`) except those that read text, files or dicts; the building blocks are
what `scripts/survey_skops_types.py` finds inside real fitted estimators. Deliberately absent:
`sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor`, `sklearn.neighbors.KDTree` and
`BallTree` (their stored index arrays are used without bounds checks, so a crafted file can read
the server's memory; KNN with `algorithm="brute"` needs neither), and every callable that is not a
pure numeric function.
"""

from __future__ import annotations


def _exact(module: str, *names: str) -> list[str]:
    return [f"{module}.{name}" for name in names]


PYTHON = [
    *_exact("builtins", "bool", "bytearray", "bytes", "dict", "float", "int", "list", "set", "slice",
            "str", "tuple"),
    "collections.OrderedDict",
]

NUMPY = [
    "numpy.ndarray", "numpy.dtype",
    *_exact("numpy", "bool", "float16", "float32", "float64", "int8", "int16", "int32", "int64",
            "uint8", "uint16", "uint32", "uint64", "str_"),
    "numpy.random.mtrand.RandomState", "numpy.random._generator.Generator",
    *_exact("numpy.random", "MT19937", "PCG64", "PCG64DXSM", "Philox", "SFC64"),
]

SCIPY = [
    *_exact("scipy.sparse._csr", "csr_matrix", "csr_array"),
    *_exact("scipy.sparse._csc", "csc_matrix", "csc_array"),
    *_exact("scipy.sparse._coo", "coo_matrix", "coo_array"),
    "scipy.interpolate._bsplines.BSpline",  # SplineTransformer
]

# The only callables: pure element-wise numpy functions (FunctionTransformer, TransformedTarget-
# Regressor), the pooling of FeatureAgglomeration and the score functions of feature selectors.
FUNCTIONS = [
    *_exact("numpy", "abs", "absolute", "arcsinh", "cbrt", "ceil", "clip", "cos", "exp", "exp2",
            "expm1", "floor", "log", "log10", "log1p", "log2", "negative", "reciprocal", "rint",
            "sign", "sin", "sinh", "sqrt", "square", "tanh", "mean", "median"),
    "scipy._lib.array_api_compat.numpy._aliases.asarray",  # kept by SplineTransformer's BSpline
    *_exact("sklearn.feature_selection._univariate_selection", "chi2", "f_classif", "f_regression"),
    *_exact("sklearn.feature_selection._mutual_info", "mutual_info_classif", "mutual_info_regression"),
]

# What fitted estimators keep inside: trees, losses and links, calibrators, optimisers, kernels.
BUILDING_BLOCKS = [
    "sklearn.tree._tree.Tree",  # node arrays are checked after loading (skops_types.check_trees)
    *_exact("sklearn._loss._loss", "CyAbsoluteError", "CyExponentialLoss", "CyHalfBinomialLoss",
            "CyHalfGammaLoss", "CyHalfMultinomialLoss", "CyHalfPoissonLoss", "CyHalfSquaredError",
            "CyHalfTweedieLoss", "CyHalfTweedieLossIdentity", "CyHuberLoss", "CyPinballLoss"),
    *_exact("sklearn._loss.loss", "AbsoluteError", "ExponentialLoss", "HalfBinomialLoss",
            "HalfGammaLoss", "HalfMultinomialLoss", "HalfPoissonLoss", "HalfSquaredError",
            "HalfTweedieLoss", "HalfTweedieLossIdentity", "HuberLoss", "PinballLoss"),
    *_exact("sklearn._loss.link", "HalfLogitLink", "IdentityLink", "Interval", "LogLink",
            "LogitLink", "MultinomialLogit"),
    *_exact("sklearn.linear_model._sgd_fast", "EpsilonInsensitive", "Hinge",
            "ModifiedHuber", "SquaredEpsilonInsensitive", "SquaredHinge"),
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    *_exact("sklearn.calibration", "_CalibratedClassifier", "_SigmoidCalibration"),
    "sklearn.cluster._bisect_k_means._BisectingTree",
    "sklearn.cluster._kmeans._kmeans_single_lloyd",  # BisectingKMeans keeps its algorithm
    "sklearn.gaussian_process._gpc._BinaryGaussianProcessClassifierLaplace",
    *_exact("sklearn.gaussian_process.kernels", "CompoundKernel", "ConstantKernel", "DotProduct",
            "ExpSineSquared", "Exponentiation", "Matern", "Product", "RBF", "RationalQuadratic",
            "Sum", "WhiteKernel"),
    *_exact("sklearn.metrics._dist_metrics", "ChebyshevDistance64", "EuclideanDistance64",
            "ManhattanDistance64", "MinkowskiDistance64"),
    "sklearn.multiclass._ConstantPredictor",
    *_exact("sklearn.neural_network._stochastic_optimizers", "AdamOptimizer", "SGDOptimizer"),
    "sklearn.utils._bunch.Bunch",
]

ESTIMATORS = [
    *_exact("sklearn.calibration", "CalibratedClassifierCV"),
    *_exact("sklearn.cluster._affinity_propagation", "AffinityPropagation"),
    *_exact("sklearn.cluster._agglomerative", "AgglomerativeClustering", "FeatureAgglomeration"),
    *_exact("sklearn.cluster._bicluster", "SpectralBiclustering", "SpectralCoclustering"),
    *_exact("sklearn.cluster._bisect_k_means", "BisectingKMeans"),
    *_exact("sklearn.cluster._dbscan", "DBSCAN"),
    *_exact("sklearn.cluster._hdbscan.hdbscan", "HDBSCAN"),
    *_exact("sklearn.cluster._kmeans", "KMeans", "MiniBatchKMeans"),
    *_exact("sklearn.cluster._mean_shift", "MeanShift"),
    *_exact("sklearn.cluster._optics", "OPTICS"),
    *_exact("sklearn.cluster._spectral", "SpectralClustering"),
    *_exact("sklearn.compose._column_transformer", "ColumnTransformer"),
    *_exact("sklearn.compose._target", "TransformedTargetRegressor"),
    *_exact("sklearn.covariance._elliptic_envelope", "EllipticEnvelope"),
    *_exact("sklearn.covariance._empirical_covariance", "EmpiricalCovariance"),
    *_exact("sklearn.covariance._graph_lasso", "GraphicalLasso", "GraphicalLassoCV"),
    *_exact("sklearn.covariance._robust_covariance", "MinCovDet"),
    *_exact("sklearn.covariance._shrunk_covariance", "LedoitWolf", "OAS", "ShrunkCovariance"),
    *_exact("sklearn.cross_decomposition._pls", "CCA", "PLSCanonical", "PLSRegression", "PLSSVD"),
    *_exact("sklearn.decomposition._dict_learning",
            "DictionaryLearning", "MiniBatchDictionaryLearning", "SparseCoder"),
    *_exact("sklearn.decomposition._factor_analysis", "FactorAnalysis"),
    *_exact("sklearn.decomposition._fastica", "FastICA"),
    *_exact("sklearn.decomposition._incremental_pca", "IncrementalPCA"),
    *_exact("sklearn.decomposition._kernel_pca", "KernelPCA"),
    *_exact("sklearn.decomposition._lda", "LatentDirichletAllocation"),
    *_exact("sklearn.decomposition._nmf", "MiniBatchNMF", "NMF"),
    *_exact("sklearn.decomposition._pca", "PCA"),
    *_exact("sklearn.decomposition._sparse_pca", "MiniBatchSparsePCA", "SparsePCA"),
    *_exact("sklearn.decomposition._truncated_svd", "TruncatedSVD"),
    *_exact("sklearn.discriminant_analysis", "LinearDiscriminantAnalysis", "QuadraticDiscriminantAnalysis"),
    *_exact("sklearn.dummy", "DummyClassifier", "DummyRegressor"),
    *_exact("sklearn.ensemble._bagging", "BaggingClassifier", "BaggingRegressor"),
    *_exact("sklearn.ensemble._forest",
            "ExtraTreesClassifier", "ExtraTreesRegressor", "RandomForestClassifier", "RandomForestRegressor",
            "RandomTreesEmbedding"),
    *_exact("sklearn.ensemble._gb", "GradientBoostingClassifier", "GradientBoostingRegressor"),
    *_exact("sklearn.ensemble._hist_gradient_boosting.gradient_boosting",
            "HistGradientBoostingClassifier", "HistGradientBoostingRegressor"),
    *_exact("sklearn.ensemble._iforest", "IsolationForest"),
    *_exact("sklearn.ensemble._stacking", "StackingClassifier", "StackingRegressor"),
    *_exact("sklearn.ensemble._voting", "VotingClassifier", "VotingRegressor"),
    *_exact("sklearn.ensemble._weight_boosting", "AdaBoostClassifier", "AdaBoostRegressor"),
    *_exact("sklearn.feature_extraction.image", "PatchExtractor"),
    *_exact("sklearn.feature_extraction.text", "TfidfTransformer"),
    *_exact("sklearn.feature_selection._from_model", "SelectFromModel"),
    *_exact("sklearn.feature_selection._rfe", "RFE", "RFECV"),
    *_exact("sklearn.feature_selection._sequential", "SequentialFeatureSelector"),
    *_exact("sklearn.feature_selection._univariate_selection",
            "GenericUnivariateSelect", "SelectFdr", "SelectFpr", "SelectFwe", "SelectKBest",
            "SelectPercentile"),
    *_exact("sklearn.feature_selection._variance_threshold", "VarianceThreshold"),
    *_exact("sklearn.frozen._frozen", "FrozenEstimator"),
    *_exact("sklearn.gaussian_process._gpc", "GaussianProcessClassifier"),
    *_exact("sklearn.gaussian_process._gpr", "GaussianProcessRegressor"),
    *_exact("sklearn.impute._base", "MissingIndicator", "SimpleImputer"),
    *_exact("sklearn.impute._knn", "KNNImputer"),
    *_exact("sklearn.isotonic", "IsotonicRegression"),
    *_exact("sklearn.kernel_approximation",
            "AdditiveChi2Sampler", "Nystroem", "PolynomialCountSketch", "RBFSampler", "SkewedChi2Sampler"),
    *_exact("sklearn.kernel_ridge", "KernelRidge"),
    *_exact("sklearn.linear_model._base", "LinearRegression"),
    *_exact("sklearn.linear_model._bayes", "ARDRegression", "BayesianRidge"),
    *_exact("sklearn.linear_model._coordinate_descent",
            "ElasticNet", "ElasticNetCV", "Lasso", "LassoCV", "MultiTaskElasticNet", "MultiTaskElasticNetCV",
            "MultiTaskLasso", "MultiTaskLassoCV"),
    *_exact("sklearn.linear_model._glm.glm", "GammaRegressor", "PoissonRegressor", "TweedieRegressor"),
    *_exact("sklearn.linear_model._huber", "HuberRegressor"),
    *_exact("sklearn.linear_model._least_angle", "Lars", "LarsCV", "LassoLars", "LassoLarsCV", "LassoLarsIC"),
    *_exact("sklearn.linear_model._logistic", "LogisticRegression", "LogisticRegressionCV"),
    *_exact("sklearn.linear_model._omp", "OrthogonalMatchingPursuit", "OrthogonalMatchingPursuitCV"),
    *_exact("sklearn.linear_model._passive_aggressive",
            "PassiveAggressiveClassifier", "PassiveAggressiveRegressor"),
    *_exact("sklearn.linear_model._perceptron", "Perceptron"),
    *_exact("sklearn.linear_model._quantile", "QuantileRegressor"),
    *_exact("sklearn.linear_model._ransac", "RANSACRegressor"),
    *_exact("sklearn.linear_model._ridge", "Ridge", "RidgeCV", "RidgeClassifier", "RidgeClassifierCV"),
    *_exact("sklearn.linear_model._stochastic_gradient", "SGDClassifier", "SGDOneClassSVM", "SGDRegressor"),
    *_exact("sklearn.linear_model._theil_sen", "TheilSenRegressor"),
    *_exact("sklearn.manifold._classical_mds", "ClassicalMDS"),
    *_exact("sklearn.manifold._isomap", "Isomap"),
    *_exact("sklearn.manifold._locally_linear", "LocallyLinearEmbedding"),
    *_exact("sklearn.manifold._mds", "MDS"),
    *_exact("sklearn.manifold._spectral_embedding", "SpectralEmbedding"),
    *_exact("sklearn.manifold._t_sne", "TSNE"),
    *_exact("sklearn.mixture._bayesian_mixture", "BayesianGaussianMixture"),
    *_exact("sklearn.mixture._gaussian_mixture", "GaussianMixture"),
    *_exact("sklearn.model_selection._classification_threshold",
            "FixedThresholdClassifier", "TunedThresholdClassifierCV"),
    *_exact("sklearn.model_selection._search", "GridSearchCV", "RandomizedSearchCV"),
    *_exact("sklearn.multiclass", "OneVsOneClassifier", "OneVsRestClassifier", "OutputCodeClassifier"),
    *_exact("sklearn.multioutput",
            "ClassifierChain", "MultiOutputClassifier", "MultiOutputRegressor", "RegressorChain"),
    *_exact("sklearn.naive_bayes",
            "BernoulliNB", "CategoricalNB", "ComplementNB", "GaussianNB", "MultinomialNB"),
    *_exact("sklearn.neighbors._classification", "KNeighborsClassifier", "RadiusNeighborsClassifier"),
    *_exact("sklearn.neighbors._graph", "KNeighborsTransformer", "RadiusNeighborsTransformer"),
    *_exact("sklearn.neighbors._kde", "KernelDensity"),
    *_exact("sklearn.neighbors._lof", "LocalOutlierFactor"),
    *_exact("sklearn.neighbors._nca", "NeighborhoodComponentsAnalysis"),
    *_exact("sklearn.neighbors._nearest_centroid", "NearestCentroid"),
    *_exact("sklearn.neighbors._regression", "KNeighborsRegressor", "RadiusNeighborsRegressor"),
    *_exact("sklearn.neighbors._unsupervised", "NearestNeighbors"),
    *_exact("sklearn.neural_network._multilayer_perceptron", "MLPClassifier", "MLPRegressor"),
    *_exact("sklearn.neural_network._rbm", "BernoulliRBM"),
    *_exact("sklearn.pipeline", "FeatureUnion", "Pipeline"),
    *_exact("sklearn.preprocessing._data",
            "Binarizer", "KernelCenterer", "MaxAbsScaler", "MinMaxScaler", "Normalizer", "PowerTransformer",
            "QuantileTransformer", "RobustScaler", "StandardScaler"),
    *_exact("sklearn.preprocessing._discretization", "KBinsDiscretizer"),
    *_exact("sklearn.preprocessing._encoders", "OneHotEncoder", "OrdinalEncoder"),
    *_exact("sklearn.preprocessing._function_transformer", "FunctionTransformer"),
    *_exact("sklearn.preprocessing._label", "LabelBinarizer", "LabelEncoder", "MultiLabelBinarizer"),
    *_exact("sklearn.preprocessing._polynomial", "PolynomialFeatures", "SplineTransformer"),
    *_exact("sklearn.preprocessing._target_encoder", "TargetEncoder"),
    *_exact("sklearn.random_projection", "GaussianRandomProjection", "SparseRandomProjection"),
    *_exact("sklearn.semi_supervised._label_propagation", "LabelPropagation", "LabelSpreading"),
    *_exact("sklearn.semi_supervised._self_training", "SelfTrainingClassifier"),
    *_exact("sklearn.svm._classes", "LinearSVC", "LinearSVR", "NuSVC", "NuSVR", "OneClassSVM", "SVC", "SVR"),
    *_exact("sklearn.tree._classes",
            "DecisionTreeClassifier", "DecisionTreeRegressor", "ExtraTreeClassifier", "ExtraTreeRegressor"),
]

TRUSTED_TYPES: frozenset[str] = frozenset(PYTHON + NUMPY + SCIPY + FUNCTIONS + BUILDING_BLOCKS
                                          + ESTIMATORS)
