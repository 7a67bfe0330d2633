# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Flow layer: asset definitions, the asset graph and selection (planner and executors follow)."""
