//! Graph passes over task dependencies: cycles, the closure of a selection in
//! dependency order (optionally cut below some tasks), and the waves of tasks that
//! can run in parallel.

use super::model::{TaskId, TaskSet};

/// Every dependency cycle, each as the path `a → b → … → a` (the first task not repeated).
/// `deps[i]` lists the dependencies of task `i`.
pub(crate) fn cycles(deps: &[Vec<usize>]) -> Vec<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Color {
        White,
        Gray,
        Black,
    }
    let mut color = vec![Color::White; deps.len()];
    let mut found: Vec<Vec<usize>> = Vec::new();
    let mut seen_sets: Vec<Vec<usize>> = Vec::new();
    for start in 0..deps.len() {
        if color[start] != Color::White {
            continue;
        }
        // Iterative DFS: (node, index of the next dependency to visit).
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        color[start] = Color::Gray;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if let Some(&dep) = deps[node].get(*next) {
                *next += 1;
                match color[dep] {
                    Color::White => {
                        color[dep] = Color::Gray;
                        stack.push((dep, 0));
                    }
                    Color::Gray => {
                        let from = stack
                            .iter()
                            .position(|&(n, _)| n == dep)
                            .expect("gray nodes are on the stack");
                        let cycle: Vec<usize> = stack[from..].iter().map(|&(n, _)| n).collect();
                        let mut set = cycle.clone();
                        set.sort_unstable();
                        if !seen_sets.contains(&set) {
                            seen_sets.push(set);
                            found.push(cycle);
                        }
                    }
                    Color::Black => {}
                }
            } else {
                color[node] = Color::Black;
                stack.pop();
            }
        }
    }
    found
}

/// The selected tasks and everything they depend on, dependencies first.
/// Ties keep the order of the task files, so the order is stable.
pub(crate) fn closure(set: &TaskSet, roots: &[TaskId]) -> Vec<TaskId> {
    closure_until(set, roots, |_| false)
}

/// As [`closure`], without going below the tasks `leaf` picks: they are in it, and
/// their dependencies only when another task of it needs them.
pub(crate) fn closure_until(set: &TaskSet, roots: &[TaskId], leaf: impl Fn(TaskId) -> bool) -> Vec<TaskId> {
    let mut state = vec![0u8; set.len()]; // 0 new, 1 entered, 2 emitted
    let mut order = Vec::new();
    for &root in roots {
        let mut stack = vec![(root, 0usize)];
        while let Some(&mut (id, ref mut next)) = stack.last_mut() {
            if *next == 0 && state[id.0] != 0 {
                stack.pop();
                continue;
            }
            state[id.0] = 1;
            let deps: &[TaskId] = if leaf(id) { &[] } else { &set.get(id).deps };
            if let Some(&dep) = deps.get(*next) {
                *next += 1;
                if state[dep.0] == 0 {
                    stack.push((dep, 0));
                }
            } else {
                state[id.0] = 2;
                order.push(id);
                stack.pop();
            }
        }
    }
    order
}

/// Group `order` (a closure, dependencies first) into waves: wave `n` holds the tasks
/// whose longest dependency chain within the selection has length `n`. The tasks
/// `leaf` picks do not wait for their dependencies (see [`closure_until`]).
pub(crate) fn waves(set: &TaskSet, order: &[TaskId], leaf: impl Fn(TaskId) -> bool) -> Vec<Vec<TaskId>> {
    let mut level = vec![0usize; set.len()];
    let mut waves: Vec<Vec<TaskId>> = Vec::new();
    for &id in order {
        let deps: &[TaskId] = if leaf(id) { &[] } else { &set.get(id).deps };
        let l = deps.iter().map(|d| level[d.0] + 1).max().unwrap_or(0);
        level[id.0] = l;
        if waves.len() <= l {
            waves.resize_with(l + 1, Vec::new);
        }
        waves[l].push(id);
    }
    waves
}

/// Whether `ancestor` is reachable from `id` through dependencies.
pub(crate) fn depends_on(set: &TaskSet, id: TaskId, ancestor: TaskId) -> bool {
    let mut seen = vec![false; set.len()];
    let mut stack = set.get(id).deps.clone();
    while let Some(dep) = stack.pop() {
        if dep == ancestor {
            return true;
        }
        if !std::mem::replace(&mut seen[dep.0], true) {
            stack.extend(set.get(dep).deps.iter().copied());
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::cycles;

    #[test]
    fn finds_no_cycle_in_a_diamond() {
        assert!(cycles(&[vec![1, 2], vec![3], vec![3], vec![]]).is_empty());
    }

    #[test]
    fn finds_a_self_loop_and_a_long_cycle() {
        let found = cycles(&[vec![0], vec![2], vec![3], vec![1]]);
        assert_eq!(found, vec![vec![0], vec![1, 2, 3]]);
    }
}
