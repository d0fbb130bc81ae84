;; Uses floating point: refused at deployment (results could differ between nodes).
(module
  (memory (export "memory") 1)
  (func (export "run")
    (drop (f64.add (f64.const 0.1) (f64.const 0.2))))
)
