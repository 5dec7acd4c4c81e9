"""mist: amortized mutual information estimation."""
