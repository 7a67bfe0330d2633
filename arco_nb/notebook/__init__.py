# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Notebook layer: IPython magics and display. The only layer that imports IPython."""
