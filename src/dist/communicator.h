// The ranks of a run spread over processes (DESIGN.md §6) and the few collectives the engine uses.
// Everything that crosses processes goes through a Communicator: MPI's world today (dist/mpi_world.cpp,
// standard MPI calls only, so Open MPI and MPICH both build it); a device backend's collectives (NCCL)
// can implement the same interface later. A process not started by an MPI launcher is one rank and
// nothing changes.
//
// Collectives are called by every rank in the same order with the same counts; a rank that fails
// ends them all (end_world_after_error), so no rank waits forever on a dead one.
#pragma once
#include <algorithm>
#include <cstdint>

namespace ll {

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;   // 0 … ranks() − 1
  virtual int ranks() const = 0;  // ≥ 1
  // The ranks on this machine (this one included): they share its memory.
  virtual int ranks_on_this_machine() const = 0;
  // Rank 0 alone prints, writes metrics, checkpoints and outputs.
  bool is_root() const { return rank() == 0; }

  // data[0, count) ← its sum over the ranks, on every rank (in place).
  virtual void all_reduce_sum(float* data, int64_t count) = 0;
  virtual void all_reduce_sum(double* data, int64_t count) = 0;
  // Whether `value` is the same on every rank.
  virtual bool same_on_all_ranks(uint64_t value) = 0;
  // A buffer of `count` elements (a multiple of kShardAlign) sharded as buffer_shard (dist/share.h)
  // lays it out. all_gather: each rank holds its shard in place in data[0, count) and receives every
  // other rank's. gather_to_root: each rank's `shard` (its shard's elements alone) goes to rank 0's
  // whole[0, count) (null on the other ranks).
  virtual void all_gather(float* data, int64_t count) = 0;
  virtual void gather_to_root(const float* shard, float* whole, int64_t count) = 0;

  // Bytes of the buffers this rank has handed to collectives so far: the payload (a ring all-reduce
  // sends and receives 2·(R−1)/R of it over the network, an all-gather (R−1)/R). Zero for one process.
  uint64_t collective_bytes() const { return collective_bytes_; }

 protected:
  uint64_t collective_bytes_ = 0;
};

// One process alone: every collective is the identity.
class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int ranks() const override { return 1; }
  int ranks_on_this_machine() const override { return 1; }
  void all_reduce_sum(float*, int64_t) override {}
  void all_reduce_sum(double*, int64_t) override {}
  bool same_on_all_ranks(uint64_t) override { return true; }
  void all_gather(float*, int64_t) override {}
  void gather_to_root(const float* shard, float* whole, int64_t count) override {
    std::copy(shard, shard + count, whole);
  }
};

// A process alone (the default of code that can run over ranks).
Communicator& one_process();

// Whether an MPI launcher (mpirun/mpiexec of Open MPI or MPICH, srun with PMI/PMIx) started this
// process as one of several ranks (or of an unknown number), from the variables it sets.
bool launched_by_mpi_launcher();
// The number of ranks the launcher started, from its variables: 1 without a launcher, 0 when it does not
// say.
int launcher_ranks();

// The process's communicator: MPI's world (initialised on the first call) when an MPI launcher
// started this process, otherwise one rank. InputError when a launcher started several ranks of a
// build without MPI.
Communicator& world();
// world() when it has been called, otherwise one rank (starts nothing: for error messages).
Communicator& world_if_started();

// Ends MPI, if world() started it, after a successful command.
void finish_world();
// After an error has been printed: when world() spans several ranks, ends every rank's process with
// `status` (MPI_Abort), so that none waits on this one; otherwise returns.
void end_world_after_error(int status);

}  // namespace ll
