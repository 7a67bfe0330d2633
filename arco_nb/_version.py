# SPDX-License-Identifier: Apache-2.0 OR MIT
__version__ = "0.1.0.dev0"
