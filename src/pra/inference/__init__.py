"""Inference beyond the study's locality-clustered SEs (issue 17): cluster alternatives, Conley
spatial-HAC, wild cluster bootstrap, Romano–Wolf / Westfall–Young, spatial randomisation
inference, the effect curve over distance and HonestDiD sensitivity. Every method starts from one
demeaned design (:mod:`pra.inference.design`)."""
