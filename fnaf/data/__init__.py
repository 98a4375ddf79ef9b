"""Data: fastMRI HDF5 reader and writer, masks, transforms, annotations, the knee phantom."""
