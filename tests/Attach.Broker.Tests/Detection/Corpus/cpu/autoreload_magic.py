%load_ext autoreload
%autoreload 2
%matplotlib inline
